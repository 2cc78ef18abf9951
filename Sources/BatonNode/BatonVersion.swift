/// The release `baton-node --version` prints. A constant, raised with each
/// release: SwiftPM has no cheap way to bake the git commit in at build time
/// (a build-tool plugin running git would rerun on every build), and a
/// generated file would go stale between commits.
enum BatonVersion {
    static let current = "1.0.0"
}
