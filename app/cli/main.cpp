// ditstudio-cli: the headless front end. The commands are in app/cli/ (one file per family).
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return ditstudio::cli::run(argc, argv);
}
