/// The environment a step runs with: a small, fixed base, the `RENKEI_*` variables that say which
/// run this is, then the job's own `environment`. Nothing else of the daemon's environment leaks in
/// (no `NOTIFY_SOCKET`, no credentials an operator exported by accident).
public enum RunEnvironment {
    /// Variables every run defines, whatever the job says.
    public static let renkeiVariables: Set<String> = [
        "RENKEI_JOB", "RENKEI_RUN_ID", "RENKEI_ATTEMPT", "RENKEI_TRIGGER", "RENKEI_LOGICAL_TIME",
        "RENKEI_LOGICAL_DATE", "RENKEI_WORK_DIR",
    ]
    /// Defined on reruns only; elsewhere `${RENKEI_RERUN_OF}` expands to an empty string.
    public static let rerunVariable = "RENKEI_RERUN_OF"
    /// Defined on runs a file's arrival started (`trigger:`): the file's path. Elsewhere
    /// `${RENKEI_TRIGGER_FILE}` expands to an empty string.
    public static let triggerFileVariable = "RENKEI_TRIGGER_FILE"
    /// Taken from the daemon's environment, each with a default, so they are always defined.
    public static let baseVariables: [String: String] = [
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/",
        "LANG": "C.UTF-8",
    ]
    /// `TZ` is set to the job's zone so `date` in a step agrees with the logical date.
    public static let zoneVariable = "TZ"

    /// Names a job file may use in `${…}` besides its own `environment` keys.
    public static var predefinedNames: Set<String> {
        renkeiVariables.union(baseVariables.keys).union([rerunVariable, triggerFileVariable, zoneVariable])
    }

    /// What identifies the run to its steps.
    public struct RunIdentity: Sendable, Equatable {
        public var job: JobName
        public var runID: Int64
        public var attempt: Int
        public var trigger: Trigger
        public var logicalTime: LogicalTime
        public var workDirectory: String
        public var rerunOf: Int64?
        /// The file whose arrival started the run.
        public var triggerFile: String?

        public init(job: JobName, runID: Int64, attempt: Int, trigger: Trigger, logicalTime: LogicalTime, workDirectory: String, rerunOf: Int64? = nil,
                    triggerFile: String? = nil) {
            self.job = job
            self.runID = runID
            self.attempt = attempt
            self.trigger = trigger
            self.logicalTime = logicalTime
            self.workDirectory = workDirectory
            self.rerunOf = rerunOf
            self.triggerFile = triggerFile
        }
    }

    /// The complete environment for the steps of one run. `inherited` is the daemon's own
    /// environment; only `baseVariables` are taken from it.
    /// A job value may read a credential (`PGPASSWORD: ${credential:db}`) only into a variable
    /// whose name marks it secret, so the stored environment shows it `(redacted)`.
    public static func build(for job: Job, run: RunIdentity, inherited: [String: String],
                             credentials: VariableExpansion.CredentialReader = VariableExpansion.noCredentials) throws(VariableExpansion.Problem) -> [String: String] {
        var environment: [String: String] = [:]
        for (name, fallback) in baseVariables {
            environment[name] = inherited[name].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        }
        environment[zoneVariable] = run.logicalTime.zoneIdentifier
        environment["RENKEI_JOB"] = run.job.rawValue
        environment["RENKEI_RUN_ID"] = String(run.runID)
        environment["RENKEI_ATTEMPT"] = String(run.attempt)
        environment["RENKEI_TRIGGER"] = run.trigger.rawValue
        environment["RENKEI_LOGICAL_TIME"] = run.logicalTime.iso8601
        environment["RENKEI_LOGICAL_DATE"] = run.logicalTime.date
        environment["RENKEI_WORK_DIR"] = run.workDirectory
        if let rerunOf = run.rerunOf { environment[rerunVariable] = String(rerunOf) }
        if let triggerFile = run.triggerFile { environment[triggerFileVariable] = triggerFile }
        // Job values expand against the predefined ones only, so their order never matters.
        var predefined = environment
        if predefined[triggerFileVariable] == nil { predefined[triggerFileVariable] = "" }
        for (name, value) in job.environment {
            if !isSecretName(name) && VariableExpansion.readsCredential(value) {
                throw .credentialInPlainVariable(name)
            }
            environment[name] = try VariableExpansion.expand(value, from: predefined, credentials: credentials)
        }
        // What started the run is not the job's to rename.
        if let triggerFile = run.triggerFile { environment[triggerFileVariable] = triggerFile }
        return environment
    }

    /// A step's argv with `${VAR}` expanded from the run's environment. `${RENKEI_RERUN_OF}`
    /// outside a rerun is empty rather than an error: the file was checked when it was loaded.
    /// A shell line is passed as written: the shell expands `${VAR}` from the same environment,
    /// and pasting values into a shell line ourselves would let a value with `;` run commands.
    public static func arguments(of step: Step, in environment: [String: String]) throws(VariableExpansion.Problem) -> [String] {
        try commandLine(of: step, in: environment).arguments
    }

    /// A step's command as its process gets it, and as it may be stored and shown.
    public struct CommandLine: Sendable, Equatable {
        /// The argv the process is started with: every value in clear.
        public var arguments: [String]
        /// The argv the store, `show` and the journal get: each secret `(redacted)`.
        public var shown: [String]
    }

    /// `arguments(of:in:)`, and the same argv with every secret replaced by `redactedValue`:
    /// exactly where `${SECRET_NAME}` or `${credential:NAME}` was expanded (whatever the value's
    /// length), and then wherever else a secret value of at least `shortestRedactedLiteral`
    /// characters appears (written into the job file as it is, or inside another value).
    public static func commandLine(of step: Step, in environment: [String: String],
                                   credentials: VariableExpansion.CredentialReader = VariableExpansion.noCredentials) throws(VariableExpansion.Problem) -> CommandLine {
        var lookup = environment
        if lookup[rerunVariable] == nil { lookup[rerunVariable] = "" }
        if lookup[triggerFileVariable] == nil { lookup[triggerFileVariable] = "" }
        switch step.command {
        case .argv(let arguments):
            var secrets = secretValues(in: environment)
            let reading: VariableExpansion.CredentialReader = { name in
                let read = credentials(name)
                if case .success(let value) = read { secrets.append(value) }
                return read
            }
            var shownLookup = lookup
            for name in lookup.keys where isSecretName(name) { shownLookup[name] = redactedValue }
            var expanded: [String] = []
            var shown: [String] = []
            for argument in arguments {
                expanded.append(try VariableExpansion.expand(argument, from: lookup, credentials: reading))
                shown.append(try VariableExpansion.expand(argument, from: shownLookup, credentials: { _ in .success(redactedValue) }))
            }
            return CommandLine(arguments: expanded, shown: shown.map { redactingLiterals(of: secrets, in: $0) })
        case .shell(let line):
            // The shell expands `${VAR}` itself; only a secret written into the line is ours to hide.
            let arguments = ["/bin/sh", "-c", line]
            let secrets = secretValues(in: environment)
            return CommandLine(arguments: arguments, shown: arguments.map { redactingLiterals(of: secrets, in: $0) })
        case .link:
            // The runner writes the step's request and starts the helper itself.
            return CommandLine(arguments: step.command.arguments, shown: step.command.arguments)
        }
    }

    /// What a secret is shown as.
    public static let redactedValue = "(redacted)"

    /// Below this length a secret value is hidden only where it was expanded, not wherever the
    /// same characters appear: a three-letter value would otherwise blot out every `abc` in every
    /// path and argument, and the blots themselves would spell the value out.
    public static let shortestRedactedLiteral = 4

    /// Values of variables whose names suggest a secret are kept out of the run record and the
    /// journal; so is such a value found inside another variable's value.
    public static func redactingSecrets(_ environment: [String: String]) -> [String: String] {
        let secrets = secretValues(in: environment)
        var redacted = environment
        for (name, value) in environment {
            redacted[name] = isSecretName(name) ? redactedValue : redactingLiterals(of: secrets, in: value)
        }
        return redacted
    }

    /// The values of the secret-named variables of `environment`.
    static func secretValues(in environment: [String: String]) -> [String] {
        environment.compactMap { isSecretName($0.key) ? $0.value : nil }
    }

    /// `text` with each of `secrets` long enough to be told apart replaced, longest first (so a
    /// value containing another is hidden whole).
    static func redactingLiterals(of secrets: [String], in text: String) -> String {
        var text = text
        for secret in Set(secrets).sorted(by: { $0.count > $1.count }) where secret.count >= shortestRedactedLiteral {
            text = text.replacing(secret, with: redactedValue)
        }
        return text
    }

    public static func isSecretName(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE_KEY", "API_KEY", "APIKEY"].contains { upper.contains($0) }
    }
}
