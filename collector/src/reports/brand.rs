//! The MSP's branding on reports: name, logo and accent colour. The logo is
//! embedded as a data URI (the report is one file); the colour is checked,
//! since it goes into the report's stylesheet.

use super::ReportError;
use base64::Engine as _;
use std::path::Path;

/// Largest logo embedded.
pub const MAX_LOGO_BYTES: u64 = 512 * 1024;

/// How reports look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// The MSP's name.
    pub msp_name: String,
    /// `data:image/...;base64,...`, if a logo was given.
    pub logo: Option<String>,
    /// `#rrggbb`.
    pub accent: String,
}

impl Default for Brand {
    fn default() -> Self {
        Brand { msp_name: "Plumbline".into(), logo: None, accent: "#1f5fa8".into() }
    }
}

impl Brand {
    /// A brand from the collector's settings.
    pub fn new(msp_name: &str, logo: Option<&Path>, accent: Option<&str>) -> Result<Brand, ReportError> {
        let accent = match accent {
            None => Brand::default().accent,
            Some(c) => check_colour(c)?,
        };
        let logo = logo.map(load_logo).transpose()?;
        Ok(Brand { msp_name: msp_name.trim().to_string(), logo, accent })
    }
}

fn check_colour(c: &str) -> Result<String, ReportError> {
    let c = c.trim();
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(c.to_lowercase())
    } else {
        Err(ReportError::Brand(format!("accent colour {c:?}: give it as #rrggbb, e.g. #1f5fa8")))
    }
}

fn load_logo(path: &Path) -> Result<String, ReportError> {
    let kind = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        _ => return Err(ReportError::Brand(format!("logo {}: use a .png, .jpg or .svg file", path.display()))),
    };
    let len = std::fs::metadata(path).map_err(|e| ReportError::Brand(format!("logo {}: {e}", path.display())))?.len();
    if len > MAX_LOGO_BYTES {
        return Err(ReportError::Brand(format!(
            "logo {} is {len} bytes; use one under {MAX_LOGO_BYTES} bytes",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| ReportError::Brand(format!("logo {}: {e}", path.display())))?;
    Ok(format!("data:{kind};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_checked_and_logos_embedded() {
        assert_eq!(check_colour("#AABBCC").unwrap(), "#aabbcc");
        for bad in ["red", "#abc", "#12345g", "#123456;} body{display:none"] {
            assert!(check_colour(bad).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("logo.png");
        std::fs::write(&png, b"\x89PNG\r\n\x1a\n").unwrap();
        assert!(load_logo(&png).unwrap().starts_with("data:image/png;base64,iVBOR"));
        assert!(load_logo(&dir.path().join("logo.gif")).is_err());
    }
}
