from .chat import BlockedWord, ChatEvent, ChatMessage, ChatModerator, ChatSanction, ReactionTally, ViewerSession
from .stream import Stream

__all__ = [
    "BlockedWord", "ChatEvent", "ChatMessage", "ChatModerator", "ChatSanction", "ReactionTally", "Stream",
    "ViewerSession",
]
