// `sluice dev-kafka`: runs the Kafka dev broker as a process, printing
// BOOTSTRAP=<servers> on its first line, until SIGINT or SIGTERM.
#pragma once

namespace sluice::kafka {

// argv[0] is the subcommand name. SIGINT/SIGTERM should be blocked in all
// threads beforehand (the CLI does); this function blocks them too.
int RunDevKafka(int argc, char** argv);

}  // namespace sluice::kafka
