import Foundation
import Logging
import RenkeiCore
import RenkeiRuntime
import RenkeiStore

/// renkei.yaml and the metrics textfile, as the loop loads and publishes them.
extension Daemon.Loop {
    /// Reads `renkei.yaml`. A file with errors is logged, each error as FILE:LINE:COL, and
    /// changes nothing: on a reload the settings in force stay; at start there are none.
    mutating func loadSiteConfiguration(initial: Bool) {
        let path = daemon.configPath
        switch SiteConfigurationFile.load(path) {
        case .success(let loaded):
            if !initial && loaded != site { logger.notice("\(path): new site configuration in force") }
            site = loaded
        case .failure(let failure):
            for problem in failure.problems { logger.error("\(problem)", metadata: ["RENKEI_FILE": "\(path)"]) }
            let kept = initial ? "renkeid runs without it (no metrics file) until it is fixed" : "renkeid keeps the settings it had"
            logger.event(.configInvalid, .error, "\(path) has \(failure.problems.count) error(s); \(kept) (renkeictl check, then systemctl reload renkeid)",
                         ["RENKEI_FILE": path])
        }
    }

    /// Asks for the metrics textfile to be written now with the store's figures, if renkei.yaml
    /// names one: on every run end, on a reload and at least every minute.
    mutating func publishMetrics() {
        metricsAskedAt = ContinuousClock.now
        guard let textfile = site.metrics?.textfile else { return }
        metrics.publish(.init(textfile: textfile, jobs: jobs.keys.map(\.rawValue), daemonStart: daemon.startedAt.timeIntervalSince1970,
                              storeWritable: core.storage == .writable))
    }
}
