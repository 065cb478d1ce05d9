/// The version swiftbuild reports (`swiftbuild --version`) and records in image history.
public enum SwiftBuildVersion {
    public static let current = "0.1.0-dev"
}
