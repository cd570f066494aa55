from django.urls import path

from patients import views_account

urlpatterns = [
    path("account/export/", views_account.data_export, name="account-export"),
    path("account/tokens/", views_account.tokens, name="account-tokens"),
    path("account/tokens/<int:token_id>/revoke/", views_account.token_revoke, name="account-token-revoke"),
    path("audit/", views_account.audit_search, name="audit-search"),
]
