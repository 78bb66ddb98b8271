"""The plan's year: the projects of an announced plan as their units carry them out.

Once the step that records a plan's announcement is done, its projects become a tracked list
(listing.py), numbered as ผด.02 numbers them; each announced amendment adds, changes and withdraws
projects in it. Units record each project's progress against it (commands/progress.py) by the
form the process names. Both are events of the plan's own hash chain (``projects_listed``,
``progress_recorded``), so auditors verify them with the rest and every report is computed from
them (replay.py); the ``tracked_projects`` table is only the read model of the latest state.

What is tracked is data of the process (process.json ``tracking``), never named here::

    "tracking": {"when": "announced_on", "projects": "projects", "form": "progress.schema.json",
                 "editors": ["planning_office"]}                  # the plan
    "tracking": {"when": "amendment_announced_on", "adds": "added_projects",
                 "changes": "changed_projects", "removes": "removed_projects"}   # an amendment
"""
