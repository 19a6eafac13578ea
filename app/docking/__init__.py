"""Docking with the 发卡 ecosystem: the acg-faka and dujiao-next wire formats (pure), and the
acg-faka-compatible endpoint set (`/shared/...`) on every store host."""
