"""ORM rows (SQLAlchemy 2, typed). Importing this package registers every table on ``Base``."""

from surveys.models.accounts import ApiKey, AuditEntry, Role, User
from surveys.models.aggregates import AggregateCell, AggregateWatermark
from surveys.models.campaigns import Access, Campaign, Invitation
from surveys.models.instruments import InstrumentVersion
from surveys.models.responses import NA, Answer, Response, Source
from surveys.models.targets import Target
from surveys.models.taxonomy import Channel, Segment, Stage

__all__ = [
    "NA",
    "Access",
    "AggregateCell",
    "AggregateWatermark",
    "Answer",
    "ApiKey",
    "AuditEntry",
    "Campaign",
    "Channel",
    "InstrumentVersion",
    "Invitation",
    "Response",
    "Role",
    "Segment",
    "Source",
    "Stage",
    "Target",
    "User",
]
