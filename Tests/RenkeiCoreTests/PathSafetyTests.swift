import Testing
@testable import RenkeiCore

@Suite struct PathSafetyTests {
    private func directory(_ path: String, _ mode: UInt32, owner: UInt32 = 0, group: UInt32 = 0) -> PathComponent {
        PathComponent(path: path, mode: 0o040000 | mode, owner: owner, group: group, ownerName: owner == 0 ? "root" : nil, groupName: group == 0 ? "root" : "staff")
    }

    private let strict = PathRules.configuration(trustedOwner: 990)

    @Test func aStickyDirectoryAnyoneWritesIsSafeAnOpenOneIsNot() {
        #expect(PathSafety.hazard(directory("/tmp", 0o1777), rules: strict) == nil)
        #expect(PathSafety.hazard(directory("/srv/drop", 0o777), rules: strict)?.kind == .writableByOthers)
        #expect(PathSafety.hazard(directory("/srv/drop", 0o777), rules: .othersMayNotWrite)?.kind == .writableByOthers)
        let file = PathComponent(path: "/srv/a.yaml", mode: 0o100666, owner: 0, group: 0)
        #expect(PathSafety.hazard(file, rules: .othersMayNotWrite)?.why == "writable by every user (mode 0666)")
    }

    @Test func groupWriteAndStrangeOwnersMatterOnlyForWhatRenkeiTakesOrdersFrom() {
        #expect(PathSafety.hazard(directory("/srv", 0o775, group: 50), rules: strict)?.kind == .writableByGroup)
        #expect(PathSafety.hazard(directory("/srv", 0o775, group: 50), rules: .othersMayNotWrite) == nil)
        #expect(PathSafety.hazard(directory("/srv", 0o755, owner: 1000), rules: strict)?.kind == .ownedBySomeoneElse)
        #expect(PathSafety.hazard(directory("/srv", 0o755, owner: 990), rules: strict) == nil, "Renkei's own user")
        #expect(PathSafety.hazard(directory("/srv", 0o1777, owner: 1000), rules: strict)?.kind == .ownedBySomeoneElse,
                "the owner of a sticky directory may still remove anything in it")
        #expect(PathSafety.hazard(directory("/srv", 0o755, owner: 1000), rules: .othersMayNotWrite) == nil)
    }

    @Test func theHazardNearestTheRootIsNamedWithItsFix() throws {
        var link = directory("/data/open", 0o777)
        link.throughLink = "/etc/renkei/jobs/a.yaml"
        let components = [directory("/", 0o755), directory("/data", 0o2775, group: 50), link,
                          PathComponent(path: "/data/open/a.yaml", mode: 0o100644, owner: 0, group: 0, throughLink: "/etc/renkei/jobs/a.yaml", isSubject: true)]
        let hazard = try #require(PathSafety.firstHazard(components, rules: strict))
        #expect(hazard.message(refusing: "/etc/renkei/jobs/a.yaml", consequence: "no") ==
                "refusing /etc/renkei/jobs/a.yaml: /data, a directory above it, is writable by its group staff (mode 02775), so no (fix: chmod g-w /data)")
        let open = try #require(PathSafety.firstHazard(components, rules: .othersMayNotWrite))
        #expect(open.message(refusing: "x", consequence: "no") ==
                "refusing x: /data/open, a directory on the way to where the symlink /etc/renkei/jobs/a.yaml points, is writable by every user and not sticky (mode 0777), so no (fix: chmod o-w /data/open)")
        let owned = PathSafety.hazard(directory("/srv", 0o755, owner: 1000), rules: strict, trustedOwnerName: "renkei")
        #expect(owned?.fix == "chown renkei /srv")
        #expect(owned?.why == "owned by uid 1000, who may change it at will")
    }
}
