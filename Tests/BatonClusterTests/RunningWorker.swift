import BatonKit
import ServiceLifecycle

/// A worker run in a test beside the harness's own, stopped gracefully at the end.
struct RunningWorker {
    let parts: WorkerAssembly
    let group: ServiceGroup
    let task: Task<Void, Never>

    func stop() async {
        await self.group.triggerGracefulShutdown()
        await self.task.value
        await self.parts.shutdown()
    }
}
