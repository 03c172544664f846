/// One file or directory met on the way from a path up to `/`, as the file system describes it.
/// Symlinks are never components: each is followed, and what its target's path crosses is.
public struct PathComponent: Sendable, Equatable {
    public var path: String
    /// `st_mode`: type and permission bits.
    public var mode: UInt32
    public var owner: UInt32
    public var group: UInt32
    /// The owner's and group's names for messages (nil when the user database has none).
    public var ownerName: String?
    public var groupName: String?
    /// The symlink whose target's path led here, when this component is not on the path as written.
    public var throughLink: String?
    /// The file or directory the walk was asked about (after every symlink), not one above it.
    public var isSubject: Bool

    public init(path: String, mode: UInt32, owner: UInt32, group: UInt32, ownerName: String? = nil, groupName: String? = nil,
                throughLink: String? = nil, isSubject: Bool = false) {
        self.path = path
        self.mode = mode
        self.owner = owner
        self.group = group
        self.ownerName = ownerName
        self.groupName = groupName
        self.throughLink = throughLink
        self.isSubject = isSubject
    }

    public var isDirectory: Bool { mode & 0o170000 == 0o040000 }
    /// Sticky directory: a user may remove or rename only their own entries (`/tmp`).
    public var isSticky: Bool { isDirectory && mode & 0o1000 != 0 }
}

/// Who may change a path's components before Renkei is hurt by it.
public struct PathRules: Sendable, Equatable {
    /// A group-writable component is refused too (files Renkei takes orders from).
    public var refuseGroupWritable: Bool
    /// Owners accepted besides root; nil when the owner is not checked (a trigger directory's
    /// path belongs to the sending system).
    public var trustedOwner: UInt32?

    public init(refuseGroupWritable: Bool, trustedOwner: UInt32?) {
        self.refuseGroupWritable = refuseGroupWritable
        self.trustedOwner = trustedOwner
    }

    /// Job files, the jobs directory, closed-day files, substitution tables: as sshd's
    /// `StrictModes`, nothing up to `/` writable by group or others (sticky directories excepted)
    /// or owned by anyone but root or the user Renkei runs as.
    public static func configuration(trustedOwner: UInt32) -> PathRules {
        PathRules(refuseGroupWritable: true, trustedOwner: trustedOwner)
    }

    /// Trigger directories' paths and steps' programs: nothing writable by every user unless sticky.
    public static let othersMayNotWrite = PathRules(refuseGroupWritable: false, trustedOwner: nil)
}

/// Something wrong with one component: what, and the command that fixes it.
public struct PathHazard: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case writableByOthers
        case writableByGroup
        case ownedBySomeoneElse
    }

    public var component: PathComponent
    public var kind: Kind
    /// Root's name, or the user Renkei runs as, for the `chown` fix.
    public var trustedOwnerName: String

    /// `refusing SUBJECT: PLACE is WHY, so CONSEQUENCE (fix: …)`.
    public func message(refusing subject: String, consequence: String) -> String {
        "refusing \(subject): \(place) is \(why), so \(consequence) (fix: \(fix))"
    }

    /// The same facts as a warning: nothing is refused.
    public func warning(about subject: String, consequence: String) -> String {
        "\(subject): \(place) is \(why), so \(consequence) (fix: \(fix))"
    }

    /// Where the component lies, seen from the path that was checked.
    public var place: String {
        let path = component.path
        switch (component.isSubject, component.throughLink) {
        case (true, let link?): return "\(path) (where the symlink \(link) points)"
        case (true, nil): return path
        case (false, let link?): return "\(path), a directory on the way to where the symlink \(link) points,"
        case (false, nil): return "\(path), a directory above it,"
        }
    }

    public var why: String {
        let mode = "mode 0" + String(component.mode & 0o7777, radix: 8)
        switch kind {
        case .writableByOthers:
            return component.isDirectory ? "writable by every user and not sticky (\(mode))" : "writable by every user (\(mode))"
        case .writableByGroup:
            return "writable by its group \(component.groupName ?? String(component.group)) (\(mode))"
        case .ownedBySomeoneElse:
            return "owned by \(component.ownerName ?? "uid \(component.owner)"), who may change it at will"
        }
    }

    public var fix: String {
        switch kind {
        case .writableByOthers: "chmod o-w \(component.path)"
        case .writableByGroup: "chmod g-w \(component.path)"
        case .ownedBySomeoneElse: "chown \(trustedOwnerName) \(component.path)"
        }
    }
}

/// Decides, from the facts of each component alone, whether a path is safe to take orders or data
/// from. The walk that gathers the facts is the runtime's.
public enum PathSafety {
    /// What is wrong with one component under `rules`, if anything. A sticky directory may be
    /// writable by anyone: no one can replace what another user put there. It must still be
    /// owned by someone trusted, since its owner may remove anything in it.
    public static func hazard(_ component: PathComponent, rules: PathRules, trustedOwnerName: String = "root") -> PathHazard? {
        func found(_ kind: PathHazard.Kind) -> PathHazard { PathHazard(component: component, kind: kind, trustedOwnerName: trustedOwnerName) }
        if let trusted = rules.trustedOwner, component.owner != 0, component.owner != trusted {
            return found(.ownedBySomeoneElse)
        }
        if component.isSticky { return nil }
        if component.mode & 0o002 != 0 { return found(.writableByOthers) }
        if rules.refuseGroupWritable && component.mode & 0o020 != 0 { return found(.writableByGroup) }
        return nil
    }

    /// The first hazard from `/` down, so the fix named is the one nearest the root: below it,
    /// nothing is safe until it is made.
    public static func firstHazard(_ components: [PathComponent], rules: PathRules, trustedOwnerName: String = "root") -> PathHazard? {
        for component in components {
            if let hazard = hazard(component, rules: rules, trustedOwnerName: trustedOwnerName) { return hazard }
        }
        return nil
    }
}
