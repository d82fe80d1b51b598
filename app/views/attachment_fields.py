"""The file picker of the ticket forms: several files, dropped or chosen (a phone offers its
camera and gallery), each checked when the form is validated so a refused file comes back as
the field's error with everything typed kept."""
from __future__ import annotations

from flask import current_app, get_template_attribute
from flask_babel import gettext as _
from flask_wtf.file import MultipleFileField
from markupsafe import Markup
from wtforms.validators import StopValidation

from ..attachments import service
from ..attachments.errors import AttachmentRefused


class FileDropWidget:
    """The file chooser with its drop zone (templates/attachments/_file_drop.html, which the
    comment form uses too)."""

    def __call__(self, field, **kwargs) -> Markup:
        file_drop = get_template_attribute("attachments/_file_drop.html", "file_drop")
        return Markup(file_drop(name=field.name, id=field.id))


class AttachmentsField(MultipleFileField):
    """Files for the ticket, checked one by one at validation (name, size, type by content,
    pixels); `populate_obj` hands the checked uploads to the view as `item.new_uploads`."""

    widget = FileDropWidget()

    def __init__(self, label=None, validators=None, **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.uploads: list[service.Upload] = []

    def pre_validate(self, form) -> None:
        self.uploads = []
        files = [item for item in (self.data or []) if item and item.filename]
        if not files:
            return
        maximum = int(current_app.config["ATTACHMENT_MAX_FILES"])
        if len(files) > maximum:
            raise StopValidation(_("%(count)s files were sent; at most %(max)s may be sent at once.",
                                   count=len(files), max=maximum))
        try:
            self.uploads = [service.prepare(item.filename, item) for item in files]
        except AttachmentRefused as exc:
            raise StopValidation(exc.message) from exc

    def populate_obj(self, obj, name) -> None:
        obj.new_uploads = list(self.uploads)
