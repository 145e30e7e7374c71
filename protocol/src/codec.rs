//! A `tokio_util::codec` shell around [`LineDecoder`]. A bad line is an
//! `Ok(Some(Err(LineError)))` item, so `FramedRead` keeps going; only I/O
//! failures end the stream.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::decoder::{LineDecoder, LineError};

/// Line codec: decodes bounded lines, encodes a string plus LF.
#[derive(Debug)]
pub struct LineCodec {
    decoder: LineDecoder,
}

impl LineCodec {
    /// A codec for lines of at most `line_bytes_max` content bytes.
    pub fn new(line_bytes_max: usize) -> LineCodec {
        LineCodec {
            decoder: LineDecoder::new(line_bytes_max),
        }
    }
}

impl Decoder for LineCodec {
    type Item = Result<String, LineError>;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        let _ = (src, &mut self.decoder);
        todo!()
    }
}

impl<T: AsRef<str>> Encoder<T> for LineCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let _ = (item, dst);
        todo!()
    }
}
