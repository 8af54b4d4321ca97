from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.activity import ActivityAction
from models.organization import MembershipStatus, Role
from models.outbox import MessageStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(max_length=200)),
                ('password_hash', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'accounts', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An identity: one per email address, shared by every organization the person belongs to.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Organization',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('owner_user_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'organizations', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.SET_NULL)),
                ('kind', fields.CharField(max_length=50)),
                ('to_address', fields.CharField(max_length=254)),
                ('subject', fields.TextField(unique=False)),
                ('text_body', fields.TextField(unique=False)),
                ('html_body', fields.TextField(unique=False)),
                ('message_id', fields.CharField(max_length=300)),
                ('status', fields.CharEnumField(default=MessageStatus.QUEUED, description='QUEUED: queued\nSENT: sent\nFAILED: failed', enum_type=MessageStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('leased_by', fields.CharField(null=True, max_length=100)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_messages', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'A rendered message waiting for, or done with, delivery.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(max_length=254)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', null=True, db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.RESTRICT)),
                ('role', fields.CharEnumField(description='ADMIN: admin\nREAD_ONLY: read_only', enum_type=Role, max_length=16)),
                ('status', fields.CharEnumField(description='INVITED: invited\nACTIVE: active\nREMOVED: removed', enum_type=MembershipStatus, max_length=16)),
                ('invited_by', fields.ForeignKeyField('models.Membership', source_field='invited_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('invited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('invitation_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('invitation_token_hash', fields.CharField(null=True, unique=True, max_length=64)),
                ('invitation_message', fields.ForeignKeyField('models.OutboxMessage', source_field='invitation_message_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('joined_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('removed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'memberships', 'app': 'models', 'unique_together': (('organization', 'email'),), 'pk_attr': 'id', 'table_description': "One email address's access to one organization: invited, active or removed."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ActivityEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='activity', on_delete=OnDelete.CASCADE)),
                ('action', fields.CharEnumField(description='USER_INVITED: user_invited\nINVITATION_RESENT: invitation_resent\nINVITATION_ACCEPTED: invitation_accepted\nINVITATION_REVOKED: invitation_revoked\nUSER_ROLE_CHANGED: user_role_changed\nUSER_REMOVED: user_removed\nOWNERSHIP_TRANSFERRED: ownership_transferred', enum_type=ActivityAction, max_length=32)),
                ('actor', fields.ForeignKeyField('models.Membership', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('actor_name', fields.CharField(max_length=200)),
                ('subject', fields.ForeignKeyField('models.Membership', source_field='subject_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('description', fields.TextField(unique=False)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'activity_events', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One change. Names are copied when the event is written so they survive later edits.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('user_agent', fields.CharField(default='', max_length=500)),
            ],
            options={'table': 'sessions', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A signed-in client. Only the SHA-256 hash of the cookie token is stored.'},
            bases=['Model'],
        ),
    ]
