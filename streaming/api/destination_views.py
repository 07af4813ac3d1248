"""Simulcast over the API: an artist's restream destinations (their own only; another artist's
are 404) and which of them simulcast a stream (owner and staff). The stream key is write-only:
responses carry `masked_key`, never the key."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from livestreams.api.access import managed_stream_or_403
from streaming import destinations as services
from streaming.selectors import (
    restream_destination_get,
    restream_destination_ids_for_stream,
    restream_destination_list,
)


class DestinationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    rtmp_url = serializers.CharField()
    masked_key = serializers.CharField()
    enabled = serializers.BooleanField()


def _artist_only(request):
    if not request.user.is_artist:
        raise PermissionDenied("Simulcast destinations are for artists.")


class RestreamDestinationListApi(APIView):
    """GET: the caller's destinations. POST: add one."""

    permission_classes = [IsAuthenticated]

    class DestinationCreateSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=80)
        rtmp_url = serializers.CharField(max_length=300, validators=[services.validate_rtmp_url])
        stream_key = serializers.CharField(max_length=300, write_only=True)
        enabled = serializers.BooleanField(default=True)

    @extend_schema(responses=inline_serializer("RestreamDestinations",
                                               {"destinations": DestinationOutputSerializer(many=True)}))
    def get(self, request):
        _artist_only(request)
        destinations = restream_destination_list(artist=request.user)
        return Response({"destinations": DestinationOutputSerializer(destinations, many=True).data})

    @extend_schema(request=DestinationCreateSerializer, responses={201: DestinationOutputSerializer})
    def post(self, request):
        _artist_only(request)
        incoming = self.DestinationCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        destination = services.restream_destination_create(artist=request.user, **incoming.validated_data)
        return Response(DestinationOutputSerializer(destination).data, status=201)


class RestreamDestinationDetailApi(APIView):
    """PATCH: change a destination (an empty or absent stream_key keeps the saved one). DELETE."""

    permission_classes = [IsAuthenticated]

    class DestinationUpdateSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=80, required=False)
        rtmp_url = serializers.CharField(max_length=300, required=False, validators=[services.validate_rtmp_url])
        stream_key = serializers.CharField(max_length=300, required=False, allow_blank=True, write_only=True)
        enabled = serializers.BooleanField(required=False)

    def _destination(self, request, destination_id):
        _artist_only(request)
        destination = restream_destination_get(artist=request.user, destination_id=destination_id)
        if destination is None:
            raise NotFound("No such destination.")
        return destination

    @extend_schema(request=DestinationUpdateSerializer, responses=DestinationOutputSerializer)
    def patch(self, request, destination_id):
        destination = self._destination(request, destination_id)
        incoming = self.DestinationUpdateSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        destination = services.restream_destination_update(destination=destination, data=incoming.validated_data)
        return Response(DestinationOutputSerializer(destination).data)

    @extend_schema(responses={204: None})
    def delete(self, request, destination_id):
        services.restream_destination_delete(destination=self._destination(request, destination_id))
        return Response(status=204)


STREAM_DESTINATIONS = inline_serializer("StreamDestinations", {
    "destination_ids": serializers.ListField(child=serializers.IntegerField()),
    "destinations": DestinationOutputSerializer(many=True)})


class StreamDestinationsApi(APIView):
    """GET: the stream artist's destinations and which of them simulcast this stream.
    PUT {"destination_ids": [...]}: exactly these (the artist's own). Owner and staff only."""

    permission_classes = [IsAuthenticated]

    class DestinationIdsSerializer(serializers.Serializer):
        destination_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=2**31 - 1), max_length=50, allow_empty=True)

    def _answer(self, stream):
        destinations = restream_destination_list(artist=stream.artist)
        return Response({
            "destination_ids": restream_destination_ids_for_stream(stream=stream),
            "destinations": DestinationOutputSerializer(destinations, many=True).data,
        })

    @extend_schema(responses=STREAM_DESTINATIONS)
    def get(self, request, stream_id):
        return self._answer(managed_stream_or_403(request.user, stream_id, what="see where it is simulcast"))

    @extend_schema(request=DestinationIdsSerializer, responses=STREAM_DESTINATIONS)
    def put(self, request, stream_id):
        stream = managed_stream_or_403(request.user, stream_id, what="choose where it is simulcast")
        incoming = self.DestinationIdsSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.stream_set_restream_destinations(
            stream=stream, destination_ids=incoming.validated_data["destination_ids"])
        return self._answer(stream)
