//! Webhook tests land with the webhook parsers.
