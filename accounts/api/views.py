from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.api.serializers import ChannelOutputSerializer, UserOutputSerializer
from accounts.models import Channel, User
from accounts.selectors import channel_list, user_followed_channels, user_follows
from accounts.services import (
    channel_update,
    follow_create,
    follow_delete,
    token_get_or_create,
    user_become_artist,
    user_signup,
)

_TokenOutput = inline_serializer("TokenOutput", {"token": serializers.CharField()})


class AuthSignupApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []  # no CSRF dance for a brand-new user
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class AuthSignupInputSerializer(serializers.Serializer):
        username = serializers.RegexField(
            r"^[\w.@+-]+\Z", max_length=150, error_messages={"invalid": "Letters, digits and @/./+/-/_ only."}
        )
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, write_only=True)
        role = serializers.ChoiceField(choices=User.Role.choices, default=User.Role.FAN)

        def validate_username(self, value):
            if User.objects.filter(username__iexact=value).exists():
                raise serializers.ValidationError("That username is taken.")
            return value

        def validate_email(self, value):
            if User.objects.filter(email__iexact=value).exists():
                raise serializers.ValidationError("An account with that email exists.")
            return value.lower()

        def validate(self, attrs):
            try:
                validate_password(attrs["password"], User(username=attrs["username"], email=attrs["email"]))
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": list(exc.messages)}) from exc
            return attrs

    @extend_schema(request=AuthSignupInputSerializer, responses={201: inline_serializer(
        "SignupOutput", {"user": UserOutputSerializer(), "token": serializers.CharField()})})
    def post(self, request):
        incoming = self.AuthSignupInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        user = user_signup(**incoming.validated_data)
        return Response(
            {"user": UserOutputSerializer(user).data, "token": token_get_or_create(user=user)},
            status=status.HTTP_201_CREATED,
        )


class AuthTokenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class AuthTokenInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, write_only=True)

    @extend_schema(request=AuthTokenInputSerializer, responses={200: _TokenOutput})
    def post(self, request):
        incoming = self.AuthTokenInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        user = authenticate(request, **incoming.validated_data)
        if user is None:
            raise serializers.ValidationError({"non_field_errors": ["Wrong username or password."]})
        return Response({"token": token_get_or_create(user=user)})


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=UserOutputSerializer)
    def get(self, request):
        return Response(UserOutputSerializer(request.user).data)


class MeBecomeArtistApi(APIView):
    permission_classes = [IsAuthenticated]

    class MeBecomeArtistInputSerializer(serializers.Serializer):
        slug = serializers.SlugField(max_length=50, required=False)
        display_name = serializers.CharField(max_length=80, required=False)

        def validate_slug(self, value):
            if Channel.objects.filter(slug=value).exists():
                raise serializers.ValidationError("That channel name is taken.")
            return value

    @extend_schema(request=MeBecomeArtistInputSerializer, responses=UserOutputSerializer)
    def post(self, request):
        incoming = self.MeBecomeArtistInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        user = user_become_artist(user=request.user, **incoming.validated_data)
        return Response(UserOutputSerializer(User.objects.select_related("channel").get(pk=user.pk)).data)


class MeFollowsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ChannelOutputSerializer(many=True))
    def get(self, request):
        return Response(ChannelOutputSerializer(user_followed_channels(user=request.user), many=True).data)


class ArtistDetailApi(APIView):
    class ArtistDetailInputSerializer(serializers.Serializer):
        display_name = serializers.CharField(max_length=80, required=False)
        bio = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(responses=ChannelOutputSerializer)
    def get(self, request, slug):
        channel = get_object_or_404(channel_list(), slug=slug)
        data = ChannelOutputSerializer(channel).data
        data["following"] = user_follows(user=request.user, channel=channel)
        return Response(data)

    @extend_schema(request=ArtistDetailInputSerializer, responses=ChannelOutputSerializer)
    def patch(self, request, slug):
        channel = get_object_or_404(Channel, slug=slug)
        if channel.owner_id != request.user.pk and not request.user.is_staff:
            return Response({"detail": "Only the channel's owner can edit it."}, status=403)
        incoming = self.ArtistDetailInputSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        channel_update(channel=channel, data=incoming.validated_data)
        return Response(ChannelOutputSerializer(get_object_or_404(channel_list(), slug=slug)).data)


class ArtistFollowApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: None, 204: None})
    def post(self, request, slug):
        follow_create(follower=request.user, channel=get_object_or_404(Channel, slug=slug))
        return Response({"following": True}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, slug):
        follow_delete(follower=request.user, channel=get_object_or_404(Channel, slug=slug))
        return Response(status=status.HTTP_204_NO_CONTENT)
