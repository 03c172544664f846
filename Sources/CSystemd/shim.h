// libsystemd's notify and journal APIs, for Swift. sd_journal_send is variadic (Swift cannot call
// it): Renkei uses sd_journal_sendv.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
