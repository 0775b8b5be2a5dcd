//! The notifier with the cart's `order.placed` subscriber after Skiff's own.

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    skiff::hosts::lambda::run_notifier_with(skiff_cart::app())
}
