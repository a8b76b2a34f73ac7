//! A/B tests: who gets which variant (`assign`), how likely each is to be best and what
//! choosing it costs (`bayes`), and the rule that picks the winner (`decide`).

pub mod assign;
pub mod bayes;
pub mod decide;
