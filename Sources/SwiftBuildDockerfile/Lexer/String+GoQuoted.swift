extension String {
    /// The string as Go's `%q` verb writes it (`strconv.Quote`): in double quotes, with `"` and `\\` escaped,
    /// C escapes for common control characters and `\\x`/`\\u`/`\\U` escapes for other unprintable scalars.
    public var goQuoted: String {
        var out: [UInt8] = []
        GoText.quote(Array(utf8)[...], into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
