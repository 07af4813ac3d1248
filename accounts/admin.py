from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import Channel, Follow, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "is_staff", "is_active", "date_joined")
    list_filter = ("role", "is_staff", "is_active", "date_joined")
    search_fields = ("username", "email")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Backline", {"fields": ("role",)}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Backline", {"fields": ("email", "role")}))


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("slug", "display_name", "owner", "created_at")
    search_fields = ("slug", "display_name", "owner__username")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    list_filter = ("created_at",)


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "channel", "created_at")
    search_fields = ("follower__username", "channel__slug")
    list_select_related = ("follower", "channel")
    raw_id_fields = ("follower", "channel")
    list_filter = ("created_at",)
