"""Msgids of Flask-AppBuilder's own strings that our screens show, translated in our catalogue.

FAB ships no Hindi catalogue. Its templates and views call gettext/lazy_gettext with these
English msgids, and flask-babel merges every directory of BABEL_TRANSLATION_DIRECTORIES into
one catalogue per locale (FAB's folder first, ours after it), so an entry in
translations/hi/LC_MESSAGES/messages.po translates FAB's string wherever FAB shows it.
Listing them here puts them in messages.pot (pybabel reads this module, see babel.cfg; it is
never imported). tests/test_i18n.py checks that each is still a msgid of the installed FAB,
so an upgrade that rewords one is noticed.

Left out: what this app never shows (self-registration, OpenID/OAuth/LDAP, charts, MongoDB).
"""


def N_(message: str) -> str:
    return message


# List, add, edit and show screens (templates/appbuilder/general/lib.html and widgets).
SCREENS = [
    N_("Actions"), N_("Page size"), N_("Order by"), N_("Record Count"), N_("Add a new record"),
    N_("Add"), N_("Edit record"), N_("Edit"), N_("Show record"), N_("Show"), N_("Delete record"),
    N_("Delete"), N_("Are you sure you want to delete this item?"), N_("Detail"), N_("Add Filter"),
    N_("Search"), N_("Back"), N_("Save"), N_("No records found"), N_("User confirmation needed"),
    N_("Select Value"), N_("Welcome"),
]

# Flash messages and form errors (baseviews.py, messages.py, fields.py, validators.py).
MESSAGES = [
    N_("Added Row"), N_("Changed Row"), N_("Deleted Row"),
    N_("Associated data exists, please delete them first"),
    N_("Integrity error, probably unique constraint"), N_("Database Error"), N_("Access is Denied"),
    N_("Not a valid choice"), N_("This field is required."), N_("Not a valid date value"),
    N_("Already exists."), N_("Invalid login. Please try again."),
]

# The filter operators (models/sqla/filters.py).
FILTERS = [
    N_("Contains"), N_("Not Contains"), N_("Equal to"), N_("Not Equal to"), N_("Greater than"),
    N_("Smaller than"), N_("Starts with"), N_("Not Starts with"), N_("Ends with"), N_("Not Ends with"),
    N_("In"), N_("Not In"), N_("Relation"), N_("No Relation"), N_("Relation as Many"),
]

# Sign-in, the user menu and FAB's security screens (security/views.py, forms.py, manager.py).
SECURITY = [
    N_("Sign In"), N_("Login"), N_("Logout"), N_("Profile"), N_("User Name"), N_("Password"),
    N_("First Name"), N_("Last Name"), N_("Email"), N_("Confirm Password"), N_("Passwords must match"),
    N_("Write the user first name or names"), N_("Write the user last name"),
    N_("Please rewrite the password to confirm"), N_("Please rewrite the user's password to confirm"),
    N_("The user's password for authentication"), N_("User info"), N_("Personal Info"), N_("Audit Info"),
    N_("Your user information"), N_("Edit User Information"), N_("User information changed"),
    N_("Reset my password"), N_("Reset Password"), N_("Reset Password Form"), N_("Password Changed"),
    N_("List Users"), N_("Show User"), N_("Add User"), N_("Edit User"), N_("Full Name"), N_("Is Active?"),
    N_("Role"), N_("Groups"), N_("Last login"), N_("Login count"), N_("Failed login count"),
    N_("Created on"), N_("Created by"), N_("Changed on"), N_("Changed by"),
    N_("It's not a good policy to remove a user, just make it inactive"),
    N_("The user's email, this will also be used for OID auth"),
    N_("Username valid for authentication on DB or LDAP, unused for OID auth"),
    N_("Security"), N_("List Roles"), N_("Show Role"), N_("Add Role"), N_("Edit Role"), N_("Copy Role"),
    N_("Copy the selected roles?"), N_("Permissions"), N_("User(s) exists in the role, cannot delete"),
    N_("List Groups"), N_("Show Group"), N_("Add Group"), N_("Edit Group"),
    N_("User(s) exists in the group, cannot delete"), N_("Either select a role or a group"),
    N_("User's Statistics"), N_("User Statistics"), N_("Base Permissions"), N_("List Base Permissions"),
    N_("Show Base Permission"), N_("Add Base Permission"), N_("Edit Base Permission"), N_("Name"),
    N_("Views/Menus"), N_("List View Menus"), N_("Show View Menu"), N_("Add View Menu"), N_("Edit View Menu"),
    N_("Permission on Views/Menus"), N_("List Permissions on Views/Menus"),
    N_("Show Permission on Views/Menus"), N_("Add Permission on Views/Menus"),
    N_("Edit Permission on Views/Menus"), N_("Permission"), N_("View/Menu"),
]
