// ditstudio-cli: the headless front end. All work is in backend/src/pipeline/cli.cpp.
#include "pipeline/cli.h"

int main(int argc, char **argv)
{
    return ditstudio::cli::run(argc, argv);
}
