"""Chat, moderation, reactions and viewer count over REST. Each view validates input, calls one
service and shapes the answer; the same events reach the sockets as for socket-sent actions."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from livestreams import chat_selectors
from livestreams.api.access import stream_or_404
from livestreams.api.serializers import StrictSerializer
from livestreams.models import Stream
from livestreams.services import chat, reactions
from livestreams.services.presence import presence_count_sync


class _StreamApi(APIView):
    permission_classes = [IsAuthenticated]

    def stream(self, stream_id) -> Stream:
        return stream_or_404(stream_id)


class ChatListCreateApi(_StreamApi):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    class HistoryParams(serializers.Serializer):
        before = serializers.IntegerField(required=False, min_value=1)
        after_seq = serializers.IntegerField(required=False, min_value=0)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)

    class ChatListCreateInput(StrictSerializer):
        text = serializers.CharField(max_length=chat.MAX_TEXT, trim_whitespace=True)

    @extend_schema(parameters=[HistoryParams], responses=OpenApiTypes.OBJECT)
    def get(self, request, stream_id):
        stream = self.stream(stream_id)
        params = self.HistoryParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        if "after_seq" in data:
            return Response(chat_selectors.chat_events_after(stream_id=stream.pk, after_seq=data["after_seq"]))
        return Response(chat_selectors.chat_history(stream=stream, before=data.get("before"), limit=data["limit"]))

    @extend_schema(request=ChatListCreateInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id):
        stream = self.stream(stream_id)
        incoming = self.ChatListCreateInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        message = chat.chat_message_post(stream=stream, user=request.user, text=incoming.validated_data["text"])
        return Response(chat.chat_message_data(message), status=status.HTTP_201_CREATED)


class ChatMessageDeleteApi(_StreamApi):
    @extend_schema(responses={204: None})
    def delete(self, request, stream_id, message_id):
        chat.chat_message_delete(stream=self.stream(stream_id), message_id=message_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChatMessagePinApi(_StreamApi):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id, message_id):
        message = chat.chat_message_pin(stream=self.stream(stream_id), message_id=message_id, actor=request.user)
        return Response(chat.chat_message_data(message, pinned=True))


class ChatMessageUnpinApi(_StreamApi):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id, message_id):
        stream = self.stream(stream_id)
        if stream.pinned_message_id not in (None, message_id):
            raise NotFound("That message is not the pinned one.")
        chat.chat_message_unpin(stream=stream, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChatClearApi(_StreamApi):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id):
        chat.chat_clear(stream=self.stream(stream_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChatTimeoutApi(_StreamApi):
    class ChatTimeoutInput(StrictSerializer):
        username = serializers.CharField(max_length=150)
        minutes = serializers.IntegerField(min_value=1, max_value=7 * 24 * 60)
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(request=ChatTimeoutInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id):
        incoming = self.ChatTimeoutInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        sanction = chat.chat_user_timeout(stream=self.stream(stream_id), actor=request.user, **incoming.validated_data)
        return Response({"username": sanction.user.username, "until": sanction.until.isoformat()}, status=201)


class ChatBanApi(_StreamApi):
    class ChatBanInput(StrictSerializer):
        username = serializers.CharField(max_length=150)
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(request=ChatBanInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id):
        incoming = self.ChatBanInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        sanction = chat.chat_user_ban(stream=self.stream(stream_id), actor=request.user, **incoming.validated_data)
        return Response({"username": sanction.user.username, "until": None}, status=201)


class ChatUnbanApi(_StreamApi):
    class ChatUnbanInput(StrictSerializer):
        username = serializers.CharField(max_length=150)

    @extend_schema(request=ChatUnbanInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id):
        incoming = self.ChatUnbanInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        chat.chat_user_unban(stream=self.stream(stream_id), actor=request.user, **incoming.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _settings(stream: Stream) -> dict:
    return {"chat_enabled": stream.chat_enabled, "reactions_enabled": stream.reactions_enabled,
            "chat_mode": stream.chat_mode, "slow_mode_seconds": stream.slow_mode_seconds}


class ChatSlowModeApi(_StreamApi):
    class ChatSlowModeInput(StrictSerializer):
        seconds = serializers.IntegerField(min_value=0, max_value=3600)

    @extend_schema(request=ChatSlowModeInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id):
        incoming = self.ChatSlowModeInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        stream = chat.chat_set_slow_mode(stream=self.stream(stream_id), actor=request.user, **incoming.validated_data)
        return Response(_settings(stream))


class ChatModeApi(_StreamApi):
    class ChatModeInput(StrictSerializer):
        chat_mode = serializers.ChoiceField(choices=Stream.ChatMode.choices)

    @extend_schema(request=ChatModeInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id):
        incoming = self.ChatModeInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        stream = chat.chat_set_mode(stream=self.stream(stream_id), actor=request.user, **incoming.validated_data)
        return Response(_settings(stream))


class ChatModeratorsApi(_StreamApi):
    class ChatModeratorsInput(StrictSerializer):
        username = serializers.CharField(max_length=150)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, stream_id):
        stream = self.stream(stream_id)
        if not chat.chat_is_moderator(stream=stream, user=request.user):
            raise chat.ModerationDenied()
        return Response({"moderators": chat_selectors.chat_moderators(stream=stream)})

    @extend_schema(request=ChatModeratorsInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id):
        incoming = self.ChatModeratorsInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        stream = self.stream(stream_id)
        chat.chat_moderator_add(stream=stream, actor=request.user, **incoming.validated_data)
        return Response({"moderators": chat_selectors.chat_moderators(stream=stream)}, status=201)


class ChatModeratorDeleteApi(_StreamApi):
    @extend_schema(responses={204: None})
    def delete(self, request, stream_id, username):
        chat.chat_moderator_remove(stream=self.stream(stream_id), username=username, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChatBlockedWordsApi(_StreamApi):
    class ChatBlockedWordsInput(StrictSerializer):
        word = serializers.CharField(max_length=50)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, stream_id):
        stream = self.stream(stream_id)
        if not chat.chat_is_moderator(stream=stream, user=request.user):
            raise chat.ModerationDenied()
        return Response({"words": chat_selectors.chat_blocked_words(stream=stream)})

    @extend_schema(request=ChatBlockedWordsInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id):
        incoming = self.ChatBlockedWordsInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        stream = self.stream(stream_id)
        chat.chat_blocked_word_add(stream=stream, actor=request.user, **incoming.validated_data)
        return Response({"words": chat_selectors.chat_blocked_words(stream=stream)}, status=201)


class ChatBlockedWordDeleteApi(_StreamApi):
    @extend_schema(responses={204: None})
    def delete(self, request, stream_id, word):
        chat.chat_blocked_word_remove(stream=self.stream(stream_id), word=word, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReactionCreateApi(_StreamApi):
    class ReactionCreateInput(StrictSerializer):
        emoji = serializers.CharField(max_length=16)

    @extend_schema(request=ReactionCreateInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id):
        incoming = self.ReactionCreateInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        reactions.reaction_add(stream=self.stream(stream_id), user=request.user, **incoming.validated_data)
        return Response({"emoji": incoming.validated_data["emoji"]}, status=status.HTTP_202_ACCEPTED)


class ViewerCountApi(_StreamApi):
    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, stream_id):
        stream = self.stream(stream_id)
        return Response({"count": presence_count_sync(stream_id=stream.pk)})
