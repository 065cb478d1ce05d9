/// A `WWW-Authenticate` challenge (RFC 7235): a scheme and its parameters, e.g.
/// `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/x:pull"`.
public struct AuthChallenge: Sendable, Equatable {
    public var scheme: String
    public var parameters: [String: String]

    public init(scheme: String, parameters: [String: String]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// Parses the first challenge of a header value; nil if there is none.
    public init?(parsing header: String) {
        var rest = Substring(header)
        while rest.first == " " { rest.removeFirst() }
        guard let space = rest.firstIndex(of: " ") else {
            guard !rest.isEmpty else { return nil }
            self.init(scheme: String(rest).lowercased(), parameters: [:])
            return
        }
        let scheme = String(rest[..<space]).lowercased()
        rest = rest[rest.index(after: space)...]
        var parameters: [String: String] = [:]
        while !rest.isEmpty {
            while rest.first == " " || rest.first == "," { rest.removeFirst() }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let key = String(rest[..<equals]).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest.removeFirst()
                while let c = rest.first {
                    rest.removeFirst()
                    if c == "\\", let next = rest.first { value.append(next); rest.removeFirst(); continue }
                    if c == "\"" { break }
                    value.append(c)
                }
            } else {
                while let c = rest.first, c != "," { value.append(c); rest.removeFirst() }
                value = value.trimmingCharacters(in: " ")
            }
            parameters[key] = value
        }
        self.init(scheme: scheme, parameters: parameters)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
