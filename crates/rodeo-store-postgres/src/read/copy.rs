//! Reading a large result through `COPY ... TO STDOUT (FORMAT binary)`: the rows arrive
//! as one byte stream that is split into fields here, which for the hundreds of
//! thousands of rows a metrics read of the whole organisation takes costs a fraction of
//! decoding each as a result row.

use futures::StreamExt;
use rodeo_store::StoreError;
use sqlx::PgConnection;

use crate::rows::DbResult;

/// The rows of `COPY (<query>) TO STDOUT (FORMAT binary)`, each as its fields (`None` for
/// NULL), handed to `each` as they are parsed.
pub(crate) async fn copy_rows(
    conn: &mut PgConnection,
    query: &str,
    mut each: impl FnMut(&[Option<&[u8]>]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut stream = conn
        .copy_out_raw(&format!("COPY ({query}) TO STDOUT (FORMAT binary)"))
        .await
        .db()?;
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        buf.extend_from_slice(&chunk.db()?);
    }
    drop(stream);
    parse(&buf, &mut each)
}

fn malformed(what: &str) -> StoreError {
    StoreError::Database(format!("malformed COPY binary data: {what}").into())
}

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Splits COPY's binary format: a header (signature, flags, extension), then per tuple a
/// 16-bit field count and per field a 32-bit length (-1 for NULL) and its bytes, then a
/// trailer of -1.
fn parse(
    buf: &[u8],
    each: &mut impl FnMut(&[Option<&[u8]>]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut r = Reader { buf, at: 0 };
    if r.take(SIGNATURE.len())? != SIGNATURE {
        return Err(malformed("signature"));
    }
    r.i32()?; // flags
    let extension = r.i32()?;
    r.take(usize::try_from(extension).map_err(|_| malformed("header extension"))?)?;
    let mut fields: Vec<Option<&[u8]>> = Vec::new();
    loop {
        let count = r.i16()?;
        if count == -1 {
            return Ok(());
        }
        fields.clear();
        for _ in 0..count {
            let len = r.i32()?;
            fields.push(if len < 0 {
                None
            } else {
                Some(r.take(len as usize)?)
            });
        }
        each(&fields)?;
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or_else(|| malformed("truncated"))?;
        let out = &self.buf[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16, StoreError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, StoreError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// An `int8` field.
pub(crate) fn int8(field: Option<&[u8]>) -> Result<Option<i64>, StoreError> {
    field
        .map(|b| {
            <[u8; 8]>::try_from(b)
                .map(i64::from_be_bytes)
                .map_err(|_| malformed("int8 width"))
        })
        .transpose()
}

/// A one-dimensional array field (NULL or empty: no elements), as its elements' bytes
/// (`None` for NULL elements): PostgreSQL's binary array format is the number of
/// dimensions, a has-NULLs flag, the element type, per dimension its length and lower
/// bound, then each element as a 32-bit length (-1 for NULL) and its bytes.
pub(crate) fn array(field: Option<&[u8]>) -> Result<Vec<Option<&[u8]>>, StoreError> {
    let Some(buf) = field else {
        return Ok(Vec::new());
    };
    let mut r = Reader { buf, at: 0 };
    let dims = r.i32()?;
    r.i32()?; // has NULLs
    r.i32()?; // element type
    match dims {
        0 => Ok(Vec::new()),
        1 => {
            let len = r.i32()?;
            r.i32()?; // lower bound
            let len = usize::try_from(len).map_err(|_| malformed("array length"))?;
            let mut out = Vec::with_capacity(len.min(buf.len() / 4));
            for _ in 0..len {
                let n = r.i32()?;
                out.push(if n < 0 {
                    None
                } else {
                    Some(r.take(n as usize)?)
                });
            }
            Ok(out)
        }
        _ => Err(malformed("array of more than one dimension")),
    }
}

/// An `int4` field.
pub(crate) fn int4(field: Option<&[u8]>) -> Result<Option<i32>, StoreError> {
    field
        .map(|b| {
            <[u8; 4]>::try_from(b)
                .map(i32::from_be_bytes)
                .map_err(|_| malformed("int4 width"))
        })
        .transpose()
}

/// A `text` field.
pub(crate) fn text(field: Option<&[u8]>) -> Result<Option<&str>, StoreError> {
    field
        .map(|b| std::str::from_utf8(b).map_err(|_| malformed("text encoding")))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                Some(b) => {
                    out.extend((b.len() as i32).to_be_bytes());
                    out.extend(*b);
                }
                None => out.extend((-1i32).to_be_bytes()),
            }
        }
        out
    }

    #[test]
    fn splits_tuples_fields_and_nulls() {
        let mut buf = SIGNATURE.to_vec();
        buf.extend(0i32.to_be_bytes());
        buf.extend(0i32.to_be_bytes());
        buf.extend(tuple(&[Some(b"api"), Some(&7i64.to_be_bytes()), None]));
        buf.extend(tuple(&[
            Some(b""),
            Some(&(-1i64).to_be_bytes()),
            Some(b"x"),
        ]));
        buf.extend((-1i16).to_be_bytes());
        let mut seen = Vec::new();
        parse(&buf, &mut |f: &[Option<&[u8]>]| {
            seen.push((
                text(f[0])?.map(str::to_owned),
                int8(f[1])?,
                text(f[2])?.map(str::to_owned),
            ));
            Ok(())
        })
        .ok();
        assert_eq!(
            seen,
            vec![
                (Some("api".to_owned()), Some(7), None),
                (Some(String::new()), Some(-1), Some("x".to_owned())),
            ]
        );
    }

    #[test]
    fn arrays_split_into_elements_and_nulls() {
        let mut a = Vec::new();
        for v in [1i32, 1, 20, 3, 1] {
            a.extend(v.to_be_bytes()); // one dimension, has NULLs, int8, 3 long, from 1
        }
        a.extend(8i32.to_be_bytes());
        a.extend(5i64.to_be_bytes());
        a.extend((-1i32).to_be_bytes());
        a.extend(8i32.to_be_bytes());
        a.extend((-6i64).to_be_bytes());
        let got: Vec<Option<i64>> = array(Some(&a))
            .unwrap()
            .into_iter()
            .map(|e| int8(e).unwrap())
            .collect();
        assert_eq!(got, vec![Some(5), None, Some(-6)]);
        for cut in 0..a.len() {
            assert!(array(Some(&a[..cut])).is_err(), "cut at {cut}");
        }
        let empty = [0i32, 0, 20]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect::<Vec<u8>>();
        assert_eq!(array(Some(&empty)).unwrap(), Vec::<Option<&[u8]>>::new());
        assert_eq!(array(None).unwrap(), Vec::<Option<&[u8]>>::new());
    }

    #[test]
    fn truncated_data_is_an_error_not_a_panic() {
        let mut buf = SIGNATURE.to_vec();
        buf.extend(0i32.to_be_bytes());
        buf.extend(0i32.to_be_bytes());
        let full = tuple(&[Some(b"api"), Some(&7i64.to_be_bytes())]);
        for cut in 0..full.len() {
            let mut b = buf.clone();
            b.extend(&full[..cut]);
            assert!(
                parse(&b, &mut |_: &[Option<&[u8]>]| Ok(())).is_err(),
                "cut at {cut}"
            );
        }
        assert!(parse(b"PGCOPY", &mut |_: &[Option<&[u8]>]| Ok(())).is_err());
    }
}
