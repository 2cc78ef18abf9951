// What a worker package of its own needs with `import BatonKit` alone: the
// handler API (ExecutorRegistry, ExecutionContext, ExecutionFailure) and
// the model's values (NodeRoles, task records).
@_exported import BatonModel
@_exported import BatonWorker
