from tortoise import migrations
from tortoise.migrations import operations as ops
from models.activity import ActivityAction
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_tokens_and_actor_kind')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='ActivityEvent',
            name='action',
            field=fields.CharEnumField(description='USER_INVITED: user_invited\nINVITATION_RESENT: invitation_resent\nINVITATION_ACCEPTED: invitation_accepted\nINVITATION_REVOKED: invitation_revoked\nUSER_ROLE_CHANGED: user_role_changed\nUSER_REMOVED: user_removed\nOWNERSHIP_TRANSFERRED: ownership_transferred\nAPI_TOKEN_CREATED: api_token_created\nAPI_TOKEN_REVOKED: api_token_revoked', enum_type=ActivityAction, max_length=32),
        ),
    ]
