"""Every callback_id, block_id and action_id, defined once for builders, listeners and tests.

Block ids of the create modal equal core's field names, so a core Problem lands under its field."""
from __future__ import annotations

from core.enums import StrEnum


class CallbackId(StrEnum):
    CREATE_RELEASE = "release_create"
    SETUP_NEEDED = "release_setup_needed"
    CANCEL_RELEASE = "release_cancel"
    MARK_DELAYED = "release_delay"
    EDIT_DATES = "release_edit_dates"
    CHANGE_PILOT = "release_change_pilot"
    STORE_ACTION = "store_action"  # a store action's confirmation form; private_metadata: {"release", "target", "action"}
    INTEGRATIONS = "integrations_list"  # /release integrations
    INTEGRATION_CHOOSE = "integration_choose"  # Add: which kind and provider
    INTEGRATION_FORM = "integration_form"  # the provider's spec as a form (add or edit)
    INTEGRATION_REMOVE = "integration_remove"  # what removing does, and a confirmation
    INTEGRATION_RESULT = "integration_result"  # verifying…, then the outcome
    ADMINS = "admins_list"  # /release admins
    HOME = "release_home"  # the App Home tab


class BlockId(StrEnum):
    VERSION = "version"
    RELEASE_TYPE = "releaseType"
    SCM = "scmIntegrationId"
    BASE_BRANCH = "baseBranch"
    TARGETS = "targets"
    PIPELINES = "pipelines"
    COMMUNICATION = "communicationIntegrationId"
    TICKET = "ticketIntegrationId"
    PLANNED_DATE = "plannedDate"
    TARGET_DATE = "targetReleaseDate"
    PILOT = "releasePilotId"
    DESCRIPTION = "description"
    PIPELINE_PREFIX = "pipeline:"  # card sections: pipeline:<release pipeline id>
    TARGET_PREFIX = "target:"  # card sections: target:<release target id>
    STAGE_ACTIONS = "stage_actions"
    TASKS = "kickoff_tasks"
    REASON = "reason"
    NEW_PILOT = "newPilot"
    STORE_PREFIX = "store:"  # card actions: store:<release target id>
    WHATS_NEW = "whatsNew"  # store forms: block ids are the params' names (core.integrations.*.check_params)
    USER_FRACTION = "userFraction"
    RELEASE_NOTES = "releaseNotes"
    UPDATE_PRIORITY = "inAppUpdatePriority"
    PROVIDER = "provider"
    NEW_ADMIN = "admin"


class ActionId(StrEnum):
    VERSION = "version_input"
    RELEASE_TYPE = "release_type_select"
    SCM = "scm_select"
    BASE_BRANCH = "base_branch_input"
    TARGETS = "targets_select"
    PIPELINES = "pipelines_select"
    COMMUNICATION = "communication_select"
    TICKET = "ticket_select"
    PLANNED_DATE = "planned_date_pick"
    TARGET_DATE = "target_date_pick"
    PILOT = "pilot_select"
    DESCRIPTION = "description_input"
    TRIGGER_BUILD = "trigger_build"
    RETRY_BUILD = "retry_build"
    ABORT_BUILD = "abort_build"
    OPEN_BUILD = "open_build"
    STAGE_PREFIX = "stage:"  # stage:<core.lifecycle.Action value>, the value is the release id
    RETRY_TASK = "retry_task"  # value: <release id>:<task>
    SKIP_TASK = "skip_task"
    MARK_TARGET = "mark_target"  # value: <next TargetStatus>:<release id>:<release target id>
    RELEASE_MENU = "release_menu"  # an overflow menu; each option's value: <action>:<release id>
    REASON = "reason_input"
    NEW_PILOT = "new_pilot_select"
    STORE_PREFIX = "store:"  # store:<core.integrations.stores.StoreAction value>; value: <release id>:<release target id>
    WHATS_NEW = "whats_new_input"
    USER_FRACTION = "user_fraction_input"
    RELEASE_NOTES = "release_notes_input"
    UPDATE_PRIORITY = "update_priority_select"
    INTEGRATION_ADD = "integration_add"
    INTEGRATION_MENU = "integration_menu"  # an overflow menu; each option's value: <MenuOp>:<integration id>
    PROVIDER = "provider_select"  # value: <kind>:<PROVIDER>
    SPEC_VALUE = "spec_value"  # every input of the integration form; its block id is the spec's name
    ADMIN_REVOKE = "admin_revoke"  # value: the account id
    NEW_ADMIN = "new_admin_select"
    HOME_NEW_RELEASE = "home_new_release"  # the Home tab's buttons: each opens the modal its slash command opens
    HOME_INTEGRATIONS = "home_integrations"
    HOME_ADMINS = "home_admins"


class MenuOp(StrEnum):
    """What an integration's menu offers an admin."""

    VERIFY = "verify"
    ENABLE = "enable"
    DISABLE = "disable"
    EDIT = "edit"
    REMOVE = "remove"


COMMAND = "/release"
