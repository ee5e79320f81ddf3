//! The one face monitoring and rotation see: [`ModemDriver`], implemented by [`Driver`],
//! which picks the family's driver from the port's model.

use std::future::Future;

use kordon_model::catalog::{ModemFamily, ModemModel, MODEM_MODELS};
use kordon_model::enums::NetMode;
use reqwest::Url;

use crate::error::DriverError;
use crate::http::ModemHttp;
use crate::huawei::HuaweiDriver;
use crate::status::ModemStatus;
use crate::zte::ZteDriver;

/// What kordon asks of a modem. Every call is bounded by the HTTP client's timeouts.
pub trait ModemDriver: Send + Sync {
    /// One reading of the modem's state.
    fn status(&self) -> impl Future<Output = Result<ModemStatus, DriverError>> + Send;
    /// Turns the mobile data session on or off.
    fn set_data(&self, on: bool) -> impl Future<Output = Result<(), DriverError>> + Send;
    /// Drops and redials the data session; returns once the modem accepted, before the new
    /// session is up.
    fn reconnect(&self) -> impl Future<Output = Result<(), DriverError>> + Send;
    /// Locks the radio to LTE or UMTS.
    fn set_net_mode(&self, mode: NetMode) -> impl Future<Output = Result<(), DriverError>> + Send;
    /// Restarts the modem.
    fn reboot(&self) -> impl Future<Output = Result<(), DriverError>> + Send;
}

/// A driver for one port's modem.
#[derive(Debug)]
pub enum Driver {
    Huawei(HuaweiDriver),
    Zte(ZteDriver),
}

/// The catalogue entry of a model code ("Huawei_h_150").
pub fn model_by_code(code: &str) -> Option<&'static ModemModel> {
    MODEM_MODELS.iter().find(|model| model.code == code)
}

/// The catalogue entry of a port's `type` (the model id).
pub fn model_by_id(id: i64) -> Option<&'static ModemModel> {
    MODEM_MODELS.iter().find(|model| model.id == id)
}

/// The driver for `family`'s web API at `base_url`, talking through `http` (one client per
/// port: see [`crate::http::HttpConfig::build`]).
pub fn driver_for(family: ModemFamily, base_url: Url, http: ModemHttp) -> Driver {
    match family {
        ModemFamily::HuaweiHilink => Driver::Huawei(HuaweiDriver::new(base_url, http)),
        ModemFamily::ZteGoform => Driver::Zte(ZteDriver::new(base_url, http)),
    }
}

/// The driver for a port whose `type` is `model_id`.
pub fn driver_for_model_id(
    model_id: i64,
    base_url: Url,
    http: ModemHttp,
) -> Result<Driver, DriverError> {
    let model =
        model_by_id(model_id).ok_or_else(|| DriverError::UnknownModel(model_id.to_string()))?;
    Ok(driver_for(model.family, base_url, http))
}

/// The driver for the model `code` ("Zte_mf_833_r").
pub fn driver_for_model_code(
    code: &str,
    base_url: Url,
    http: ModemHttp,
) -> Result<Driver, DriverError> {
    let model = model_by_code(code).ok_or_else(|| DriverError::UnknownModel(code.to_owned()))?;
    Ok(driver_for(model.family, base_url, http))
}

/// The factory LAN address of the family's web UI: 192.168.8.1 for HiLink, 192.168.0.1 for
/// goform.
pub fn factory_base_url(family: ModemFamily) -> Url {
    let text = match family {
        ModemFamily::HuaweiHilink => "http://192.168.8.1/",
        ModemFamily::ZteGoform => "http://192.168.0.1/",
    };
    // Both literals are valid URLs; parsing them cannot fail.
    Url::parse(text).unwrap_or_else(|_| unreachable!("constant URL {text}"))
}

impl Driver {
    pub fn family(&self) -> ModemFamily {
        match self {
            Driver::Huawei(_) => ModemFamily::HuaweiHilink,
            Driver::Zte(_) => ModemFamily::ZteGoform,
        }
    }
}

impl ModemDriver for Driver {
    async fn status(&self) -> Result<ModemStatus, DriverError> {
        match self {
            Driver::Huawei(driver) => driver.status().await,
            Driver::Zte(driver) => driver.status().await,
        }
    }

    async fn set_data(&self, on: bool) -> Result<(), DriverError> {
        match self {
            Driver::Huawei(driver) => driver.set_data(on).await,
            Driver::Zte(driver) => driver.set_data(on).await,
        }
    }

    async fn reconnect(&self) -> Result<(), DriverError> {
        match self {
            Driver::Huawei(driver) => driver.reconnect().await,
            Driver::Zte(driver) => driver.reconnect().await,
        }
    }

    async fn set_net_mode(&self, mode: NetMode) -> Result<(), DriverError> {
        match self {
            Driver::Huawei(driver) => driver.set_net_mode(mode).await,
            Driver::Zte(driver) => driver.set_net_mode(mode).await,
        }
    }

    async fn reboot(&self) -> Result<(), DriverError> {
        match self {
            Driver::Huawei(driver) => driver.reboot().await,
            Driver::Zte(driver) => driver.reboot().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpConfig;

    #[test]
    fn every_catalogue_model_gets_its_familys_driver() {
        for model in MODEM_MODELS.iter() {
            let http = HttpConfig::default().build().unwrap();
            let driver =
                driver_for_model_code(model.code, factory_base_url(model.family), http).unwrap();
            assert_eq!(driver.family(), model.family);
            assert_eq!(model_by_id(model.id), Some(model));
        }
        let http = HttpConfig::default().build().unwrap();
        assert!(matches!(
            driver_for_model_id(99, factory_base_url(ModemFamily::ZteGoform), http),
            Err(DriverError::UnknownModel(_))
        ));
    }
}
