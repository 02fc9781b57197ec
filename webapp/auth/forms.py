"""Sign-in and password forms (CSRF-protected like every staff form)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from surveys.models.accounts import EMAIL_LENGTH
from surveys.services.accounts import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(
        "E-mail address",
        validators=[DataRequired("Enter your e-mail address."), Length(max=EMAIL_LENGTH)],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class PasswordForm(FlaskForm):
    current = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a new password."),
            Length(
                min=PASSWORD_MIN_LENGTH,
                max=PASSWORD_MAX_LENGTH,
                message=f"Use {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters.",
            ),
        ],
        render_kw={"autocomplete": "new-password", "minlength": PASSWORD_MIN_LENGTH},
    )
    confirm = PasswordField(
        "New password again",
        validators=[EqualTo("new", "The two new passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
