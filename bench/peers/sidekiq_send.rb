# The producer of bench/peers/sidekiq_bench.py: loads Sidekiq and connects,
# prints "ready", waits for a line on stdin (the driver's clock starts),
# pushes TASKS noop jobs with Sidekiq::Client.push_bulk, 1,000 a call, and
# exits. push_bulk is Sidekiq's bulk API: one LPUSH of the whole batch
# (Sidekiq's documentation advises at most 1,000 jobs a call).
#
#   PEERS_REDIS_URL=redis://127.0.0.1:6396/0 ruby sidekiq_send.rb TASKS
require_relative "sidekiq_jobs"

BATCH = 1000
tasks = Integer(ARGV.fetch(0))
Sidekiq.redis { |conn| conn.ping }
$stdout.puts "ready"
$stdout.flush
exit 1 unless $stdin.gets # the driver went away

(0...tasks).step(BATCH) do |first|
  Sidekiq::Client.push_bulk("class" => NoopJob, "args" => Array.new([BATCH, tasks - first].min) { [] })
end
