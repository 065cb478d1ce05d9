/// Where a shared build cache lives: an OCI layout directory or a registry reference.
public enum CacheLocation: Sendable, Equatable {
    case local(String)
    case registry(String)
}
