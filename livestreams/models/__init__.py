from .chat import BlockedWord, ChatEvent, ChatMessage, ChatModerator, ChatSanction, ReactionTally, ViewerSession
from .replay import Replay
from .stream import Stream

__all__ = [
    "BlockedWord", "ChatEvent", "ChatMessage", "ChatModerator", "ChatSanction", "ReactionTally", "Replay", "Stream",
    "ViewerSession",
]
