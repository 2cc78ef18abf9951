# Sidekiq's side of bench/peers/sidekiq_bench.py: the noop job, the counter
# of executions and the ready marker. Loaded by each worker process
# (`sidekiq -r ./sidekiq_jobs.rb`) and by the producer (sidekiq_send.rb).
require "sidekiq"
require "redis"

# redis-rb 4.8 warns about its 5.0 API on every SADD Sidekiq makes.
Redis.silence_deprecations = true

module Peers
  # A private Redis (the driver flushes it); the same URL for Sidekiq and the counter.
  REDIS_URL = ENV.fetch("PEERS_REDIS_URL", "redis://127.0.0.1:6396/0")
  QUEUE = "peers"
  DONE_KEY = "peers:done"
  READY_KEY = "peers:ready"

  # Executions counted in memory and added to a Redis key every 5 ms by a
  # thread, as peerlib.DoneCounter does: an INCR per job would put a round
  # trip on every job.
  module DoneCounter
    @lock = Mutex.new
    @done = 0
    @thread = nil

    def self.add
      @lock.synchronize do
        @done += 1
        @thread ||= Thread.new { flush_forever }
      end
    end

    def self.flush_forever
      client = Redis.new(url: REDIS_URL)
      sent = 0
      loop do
        sleep 0.005
        done = @done
        next if done == sent
        client.incrby(DONE_KEY, done - sent)
        sent = done
      end
    end
  end
end

class NoopJob
  include Sidekiq::Job
  sidekiq_options queue: Peers::QUEUE

  def perform
    Peers::DoneCounter.add
  end
end

Sidekiq.configure_client do |config|
  config.redis = {url: Peers::REDIS_URL, size: 1}
end

Sidekiq.configure_server do |config|
  config.redis = {url: Peers::REDIS_URL}
  # The job logger writes a start and a done line for every job at INFO.
  config.logger.level = Logger::WARN
  # The first heartbeat: the process's fetchers are starting.
  config.on(:heartbeat) do
    Redis.new(url: Peers::REDIS_URL).sadd(Peers::READY_KEY, Process.pid)
  end
end
