"""The benchmark's sections, in the order a full run takes them.

Each module has NAME, TITLE, ABOUT (what it measures, for docs/benchmark.md), PEAK_MEMORY
(whether its figures include /usr/bin/time's peak memory), REPEATED (whether it honours
--repeats), `run(context) -> results`, `targets(results or None) -> [Target]` and
`tables(results) -> [Table]`.
"""

from types import ModuleType

from benchmarks.sections import (
    charts,
    gate,
    monitoring,
    overhead,
    pr,
    serving,
    setup,
    startup,
    validation,
)

# overhead first: serving and monitoring reuse a project whose pipeline it deployed.
SECTIONS: dict[str, ModuleType] = {
    module.NAME: module
    for module in (overhead, startup, validation, setup, serving, monitoring, pr, gate, charts)
}
