from tortoise import migrations
from tortoise.migrations import operations as ops
from models.activity import ActorKind
from models.organization import Role
from models.tokens import AccountTokenPurpose
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='PASSWORD_RESET: password_reset\nEMAIL_CHANGE: email_change', enum_type=AccountTokenPurpose, max_length=32)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('new_email', fields.CharField(null=True, max_length=254)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'account_tokens', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A single-use link mailed to an account holder: a password reset or an email change.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='api_tokens', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('role', fields.CharEnumField(description='ADMIN: admin\nREAD_ONLY: read_only', enum_type=Role, max_length=16)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('display_prefix', fields.CharField(max_length=20)),
                ('created_by', fields.ForeignKeyField('models.Membership', source_field='created_by_id', db_constraint=True, to_field='id', related_name='api_tokens', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_tokens', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A bearer credential for partner integrations, bound to one organization and its creator.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RateLimitCounter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(max_length=200)),
                ('window_start', fields.BigIntField()),
                ('count', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'rate_limit_counters', 'app': 'models', 'unique_together': (('key', 'window_start'),), 'pk_attr': 'id', 'table_description': 'Requests counted per key (an action and who or where it came from) in one fixed time window.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ActivityEvent',
            name='actor_kind',
            field=fields.CharEnumField(default=ActorKind.MEMBER, description='MEMBER: member\nAPI_TOKEN: api_token\nSYSTEM: system\nSUPPORT: support', db_default='member', enum_type=ActorKind, max_length=16),
        ),
        # Events written before this column existed: no actor means the system or support acted.
        ops.RunSQL(
            "UPDATE activity_events SET actor_kind = CASE WHEN actor_name = 'Support' THEN 'support' ELSE 'system' END "
            "WHERE actor_id IS NULL",
            reverse_sql=ops.RunSQL.noop,
        ),
        ops.AddField(
            model_name='ActivityEvent',
            name='api_token',
            field=fields.ForeignKeyField('models.ApiToken', source_field='api_token_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
    ]
