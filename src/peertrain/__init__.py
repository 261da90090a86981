"""peertrain: training and certification compliance for law-enforcement peer support teams.

The public API, in the order a caller meets it::

    from peertrain import (
        load_bundled_catalogue, load_pack,            # curricula as data
        Member, Completion, Waiver,                   # records
        check_compliance,                             # records + date in, verdicts out
        build_report, render_html,                    # verdicts -> the printable report
        converter,                                    # JSON both ways for every public type
    )

Everything named in ``__all__`` is stable API; modules and names starting with ``_`` are not.
"""

from __future__ import annotations

from peertrain._version import __version__
from peertrain.errors import CatalogError, InputError, PeertrainError
from peertrain.imports.tables import read_completions, read_roster, read_waivers
from peertrain.report import Report, build_report, render_csv, render_html, render_json
from peertrain.rules.catalog import Catalogue, Track
from peertrain.rules.compliance import ComplianceResult, check_compliance, credit_completions, forecast
from peertrain.rules.convert import converter, make_converter
from peertrain.rules.loading import bundled_pack_ids, load_bundled_catalogue, load_catalogue, load_pack
from peertrain.rules.model import (
    Completion,
    Course,
    Delivery,
    Function,
    Member,
    Role,
    Waiver,
    WaiverKind,
    hours_from_ceu,
)
from peertrain.rules.requirements import (
    AllOf,
    AnyOf,
    Applicability,
    Certificate,
    CourseFilter,
    Hours,
    Minimum,
    NOf,
    Recurring,
    Requirement,
    RulePack,
    Topics,
)
from peertrain.rules.stream import ComplianceStream, MemberVerdicts, stream_compliance
from peertrain.rules.verdict import Forecast, MinimumShortfall, Shortfall, Status, Verdict
from peertrain.rules.windows import AllTime, AnySpan, Periodic, Rolling, Window

__all__ = [
    "AllOf",
    "AllTime",
    "AnyOf",
    "AnySpan",
    "Applicability",
    "CatalogError",
    "Catalogue",
    "Certificate",
    "Completion",
    "ComplianceResult",
    "ComplianceStream",
    "Course",
    "CourseFilter",
    "Delivery",
    "Forecast",
    "Function",
    "Hours",
    "InputError",
    "Member",
    "MemberVerdicts",
    "Minimum",
    "MinimumShortfall",
    "NOf",
    "PeertrainError",
    "Periodic",
    "Recurring",
    "Report",
    "Requirement",
    "Role",
    "Rolling",
    "RulePack",
    "Shortfall",
    "Status",
    "Topics",
    "Track",
    "Verdict",
    "Waiver",
    "WaiverKind",
    "Window",
    "__version__",
    "build_report",
    "bundled_pack_ids",
    "check_compliance",
    "converter",
    "credit_completions",
    "forecast",
    "hours_from_ceu",
    "load_bundled_catalogue",
    "load_catalogue",
    "load_pack",
    "make_converter",
    "read_completions",
    "read_roster",
    "read_waivers",
    "render_csv",
    "render_html",
    "render_json",
    "stream_compliance",
]
