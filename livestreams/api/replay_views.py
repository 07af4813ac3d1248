"""Replays over REST: the replay's state and playback URL, its chat with offsets, and the artist's
publish / unpublish / delete. Invisible replays answer 404, as if there were none."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from livestreams.api.access import managed_stream_or_403, stream_or_404
from livestreams.models import Replay
from livestreams.selectors import stream_can_manage
from livestreams.services import replays


def _visible_replay(request, stream_id) -> tuple:
    stream = stream_or_404(stream_id)
    replay = replays.replay_for_viewer(stream=stream, user=request.user)
    if replay is None:
        raise NotFound("This stream has no replay.")
    return stream, replay


def _managed_replay(request, stream_id, what: str) -> Replay:
    stream = managed_stream_or_403(request.user, stream_id, what=what)
    replay = Replay.objects.filter(stream=stream).first()
    if replay is None:
        raise NotFound("This stream has no replay.")
    return replay


class ReplayDetailApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, stream_id):
        stream, replay = _visible_replay(request, stream_id)
        return Response(replays.replay_data(replay, manage=stream_can_manage(stream=stream, user=request.user)))

    @extend_schema(responses={204: None})
    def delete(self, request, stream_id):
        replays.replay_delete(replay=_managed_replay(request, stream_id, "delete its replay"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReplayPublishApi(APIView):
    permission_classes = [IsAuthenticated]
    published = True

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, stream_id):
        replay = _managed_replay(request, stream_id, "publish or unpublish its replay")
        replay = replays.replay_set_published(replay=replay, published=self.published)
        return Response(replays.replay_data(replay, manage=True))


class ReplayUnpublishApi(ReplayPublishApi):
    published = False


class ReplayChatApi(APIView):
    permission_classes = [AllowAny]

    class Params(serializers.Serializer):
        after = serializers.FloatField(required=False, min_value=-86400.0, max_value=10_000_000.0)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=200)

    @extend_schema(parameters=[Params], responses=OpenApiTypes.OBJECT)
    def get(self, request, stream_id):
        params = self.Params(data=request.query_params)
        params.is_valid(raise_exception=True)
        stream, replay = _visible_replay(request, stream_id)
        return Response(replays.replay_chat(stream=stream, replay=replay, after=params.validated_data.get("after"),
                                            limit=params.validated_data["limit"]))
