extension MiniRegex {
    /// Thompson construction of the flat program.
    struct Compiler {
        var ops: [Op] = []
        var classes: [CharClass] = []

        var next: Int32 { Int32(ops.count) }

        mutating func append(_ op: Op) { ops.append(op) }

        mutating func emit(_ node: Node) {
            switch node {
            case .empty:
                break
            case .literal(let c):
                append(Op(code: .rune, a: Int32(bitPattern: c), b: 0))
            case .anyNotNL:
                append(Op(code: .anyNotNL, a: 0, b: 0))
            case .cls(var cc):
                cc.finalize()
                classes.append(cc)
                append(Op(code: .cls, a: Int32(classes.count - 1), b: 0))
            case .assert(let a):
                append(Op(code: .assert, a: a.rawValue, b: 0))
            case .concat(let items):
                for item in items { emit(item) }
            case .alternate(let branches):
                var jumps: [Int] = []
                for (k, branch) in branches.enumerated() {
                    if k < branches.count - 1 {
                        let split = ops.count
                        append(Op(code: .split, a: next + 1, b: -1))
                        emit(branch)
                        jumps.append(ops.count)
                        append(Op(code: .jump, a: -1, b: 0))
                        ops[split].b = next
                    } else {
                        emit(branch)
                    }
                }
                for j in jumps { ops[j].a = next }
            case .star(let sub):
                let split = ops.count
                append(Op(code: .split, a: next + 1, b: -1))
                emit(sub)
                append(Op(code: .jump, a: Int32(split), b: 0))
                ops[split].b = next
            case .plus(let sub):
                let start = next
                emit(sub)
                append(Op(code: .split, a: start, b: next + 1))
            case .quest(let sub):
                let split = ops.count
                append(Op(code: .split, a: next + 1, b: -1))
                emit(sub)
                ops[split].b = next
            }
        }
    }
}
