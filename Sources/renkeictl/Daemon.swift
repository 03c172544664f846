import Foundation
import RenkeiCore
import RenkeiControl
import RenkeiRuntime

/// Sends one request to renkeid and returns its answer; a daemon that is not there is exit 3,
/// a socket this user may not open is exit 4, an answer that is an error ends with its status.
func askDaemon(_ locations: Locations, _ request: ControlRequest) throws -> ControlResponse {
    let response: ControlResponse
    do {
        response = try ControlClient(socketPath: locations.socket).send(request, timeout: locations.answerSeconds)
    } catch .permissionDenied(let path, let group) {
        throw Failure(.permissionDenied, ControlClient.Failure.permissionDenied(path, group: group).description)
    } catch {
        throw Failure(.daemonUnreachable, "\(error)")
    }
    if response.exitStatus != 0 {
        throw Failure(ExitStatus(rawValue: response.exitStatus) ?? .runDidNotSucceed, response.message)
    }
    return response
}

/// `--wait`: follows a run through the socket until it ends, printing each step as it changes;
/// returns whether it succeeded.
func waitForRun(_ locations: Locations, _ id: Int64) throws -> Bool {
    var seen: [String: String] = [:]
    while true {
        let progress = try askDaemon(locations, ControlRequest(operation: .runState, run: id)).progress
        guard let progress else { throw Failure(.runDidNotSucceed, "renkeid sent no progress for run \(id)") }
        for step in progress.steps where seen[step.name] != step.state {
            if step.state != "pending" { print(SafeText.visible("  \(step.name): \(step.state)")) }
            seen[step.name] = step.state
        }
        // The daemon cannot write its store: the row cannot change until it can, so waiting on
        // would never end. Say what is known and how to follow it.
        if let storage = progress.storage {
            FileHandle.standardError.write(Data("renkeid: \(SafeText.visible(storage))\n".utf8))
            print(SafeText.visible("run \(id) \(progress.state)" + (progress.message.map { ": \($0)" } ?? "") + " (not on record yet)"))
            print("  follow it: renkeictl status; renkeictl show \(id) once the store can be written")
            return progress.state == "succeeded"
        }
        switch progress.state {
        case "queued", "running":
            usleep(250_000)
        case "succeeded":
            print("run \(id) succeeded")
            return true
        default:
            print(SafeText.visible("run \(id) \(progress.state)" + (progress.message.map { ": \($0)" } ?? "")))
            print("  details: renkeictl show \(id)")
            return false
        }
    }
}
