"""What several pages share: how a form checks what people type."""
