use plumbline_plugin_sdk::prelude::*;
