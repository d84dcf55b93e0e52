//! Small macros shared by the domain's modules.

/// `as_str`, `Display` and `FromStr` for a fieldless enum written as lowercase names;
/// `$what` lists the names for the error a wrong one gets.
macro_rules! text_enum {
    ($ty:ty, $what:literal, $($variant:path => $text:literal),+) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($variant => $text),+ }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($variant),)+
                    _ => Err(format!(concat!("must be one of ", $what))),
                }
            }
        }
    };
}
