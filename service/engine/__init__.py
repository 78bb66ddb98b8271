"""The engine adapter: the only package that imports SpiffWorkflow. Process models (model.py),
instances (instance.py), the one clock routed into SpiffWorkflow (clock.py), the sandbox designer
code runs in (sandbox.py) and hardened XML (safexml.py). Everything above uses the names below."""

from service.engine.clock import running_at
from service.engine.instance import (
    Blocker,
    Deadline,
    Instance,
    MigrationRefused,
    OpenTask,
    ScriptFailed,
    TaskNotOpen,
)
from service.engine.model import (
    CODE_ELEMENTS,
    FORM_PROPERTY,
    InvalidProcess,
    Problem,
    ProcessModel,
    code_elements,
    parse_process,
    parse_texts,
    timer_value_problem,
    xsd_problems,
)

__all__ = ["CODE_ELEMENTS", "FORM_PROPERTY", "Blocker", "Deadline", "Instance", "InvalidProcess", "MigrationRefused",
           "OpenTask", "Problem", "ProcessModel", "ScriptFailed", "TaskNotOpen", "code_elements", "parse_process",
           "parse_texts", "running_at", "timer_value_problem", "xsd_problems"]
