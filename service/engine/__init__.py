"""The engine adapter: the only package that imports SpiffWorkflow."""

from service.engine.instance import (
    _CODE_ELEMENTS,
    FORM_PROPERTY,
    Instance,
    InvalidProcess,
    MigrationRefused,
    Problem,
    ProcessModel,
    ScriptFailed,
    TaskNotOpen,
    parse_process,
    timer_value_problem,
    xsd_problems,
)
