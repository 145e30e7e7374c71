//! A `tokio_util::codec` shell around [`LineDecoder`]. A bad line is an
//! `Ok(Some(Err(LineError)))` item, so `FramedRead` keeps going; only I/O
//! failures end the stream. It adds no protocol logic of its own and must
//! never turn a bad line into a stream error.

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::decoder::{LineDecoder, LineError};

/// Line codec: decodes bounded lines, encodes a string plus LF.
#[derive(Debug)]
pub struct LineCodec {
    decoder: LineDecoder,
}

impl LineCodec {
    /// Bytes of the unfinished line held by the decoder now.
    pub fn buffered_len(&self) -> usize {
        self.decoder.buffered_len()
    }
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
        if src.is_empty() {
            return Ok(None);
        }
        let (consumed, item) = self.decoder.decode(src);
        src.advance(consumed);
        Ok(item)
    }

    /// End of stream: any complete lines still in `src` come out first; a
    /// trailing fragment without LF is discarded silently (WIRE-4).
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        if let Some(item) = self.decode(src)? {
            return Ok(Some(item));
        }
        self.decoder.finish();
        src.clear();
        Ok(None)
    }
}

impl<T: AsRef<str>> Encoder<T> for LineCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let line = item.as_ref().as_bytes();
        debug_assert!(
            !line.contains(&b'\n'),
            "a line to encode holds no LF (SRV-2)"
        );
        dst.reserve(line.len() + 1);
        dst.put_slice(line);
        dst.put_u8(b'\n');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_2_encoder_appends_a_bare_lf() {
        let mut codec = LineCodec::new(16);
        let mut dst = BytesMut::new();
        codec.encode("* Enter your name:", &mut dst).unwrap();
        codec.encode(String::from("aa: hi"), &mut dst).unwrap();
        assert_eq!(&dst[..], b"* Enter your name:\naa: hi\n");
    }

    // LEAVE-4: the empty line a client sends as a keep-alive is a bare LF.
    #[test]
    fn leave_4_encoder_writes_an_empty_line_as_a_bare_lf() {
        let mut codec = LineCodec::new(16);
        let mut dst = BytesMut::new();
        codec.encode("", &mut dst).unwrap();
        assert_eq!(&dst[..], b"\n");
    }

    #[test]
    fn decoder_advances_src_and_asks_for_more() {
        let mut codec = LineCodec::new(16);
        let mut src = BytesMut::from(&b"one\r\ntw"[..]);
        assert_eq!(codec.decode(&mut src).unwrap(), Some(Ok("one".to_owned())));
        assert_eq!(codec.decode(&mut src).unwrap(), None);
        assert!(src.is_empty());
        assert_eq!(codec.buffered_len(), 2);
        src.extend_from_slice(b"o\n");
        assert_eq!(codec.decode(&mut src).unwrap(), Some(Ok("two".to_owned())));
        assert_eq!(codec.decode(&mut src).unwrap(), None);
    }

    #[test]
    fn wire_4_decode_eof_discards_the_fragment() {
        let mut codec = LineCodec::new(16);
        let mut src = BytesMut::from(&b"last\nhal"[..]);
        assert_eq!(
            codec.decode_eof(&mut src).unwrap(),
            Some(Ok("last".to_owned()))
        );
        assert_eq!(codec.decode_eof(&mut src).unwrap(), None);
        assert_eq!(codec.buffered_len(), 0);
        assert!(src.is_empty());
    }

    #[test]
    fn wire_5_line_errors_are_items_not_stream_errors() {
        let mut codec = LineCodec::new(3);
        let mut src = BytesMut::from(&b"abcdef\n\x00\nok\n"[..]);
        assert_eq!(
            codec.decode(&mut src).unwrap(),
            Some(Err(LineError::TooLong))
        );
        assert_eq!(
            codec.decode(&mut src).unwrap(),
            Some(Err(LineError::ControlChar))
        );
        assert_eq!(codec.decode(&mut src).unwrap(), Some(Ok("ok".to_owned())));
    }
}
