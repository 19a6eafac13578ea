"""Store referral (推荐返佣): stores invited by a store pay it a commission on their profit."""
