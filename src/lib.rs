pub mod scenarios;
pub mod sim;
